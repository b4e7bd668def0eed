"""Physical constants in the units used throughout: Angstrom, ps, kJ/mol, g/mol (amu), kelvin."""

#: Boltzmann constant in kJ/(mol K)
KB_KJ_PER_MOL_K = 0.0083144626
#: energy / mass: (kJ/mol) / (g/mol) in Angstrom^2/ps^2 (1 kJ/g = 10^6 m^2/s^2 = 1 nm^2/ps^2).
#: kT / zeta with zeta in amu/ps is then a diffusion coefficient in Angstrom^2/ps.
KJ_PER_G_IN_A2_PER_PS2 = 100.0
