"""Numba kernels (installed as ``dami_np.kernels``): distances and greedy K-Center."""
