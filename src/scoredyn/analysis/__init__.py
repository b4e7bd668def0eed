"""Analysis of MD and SD trajectories: free energies, core-set states and first passage,
and divergences with their noise floors (paper sec. 3). Plain functions on arrays, each
tested on inputs whose answer is known."""
