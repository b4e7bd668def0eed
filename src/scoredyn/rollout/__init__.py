"""Score-dynamics rollouts: batched sampling of displacements, physical checks with
resampling, and checkpointed trajectories (paper sec. 2.3, Algorithm 1 and sec. 3.1)."""
