"""The noise-prediction network eps(z_tau, tau, r_t) of score dynamics (paper sec. 2.5)."""
