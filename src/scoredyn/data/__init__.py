"""Trajectories to training pairs: packing (``dataset``) and minibatch sampling (``loader``)."""
