"""tsbench.testing"""
