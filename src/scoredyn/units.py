"""Physical constants in the units used throughout: Angstrom, ps, kJ/mol, g/mol, kelvin."""

#: Boltzmann constant in kJ/(mol K)
KB_KJ_PER_MOL_K = 0.0083144626
#: force / mass: (kJ/mol/Angstrom) / (g/mol) in Angstrom/ps^2 (1 kJ/g = 1000 m^2/s^2 = 0.1 Angstrom^2/ps^2)
ACCEL_UNIT = 0.1
