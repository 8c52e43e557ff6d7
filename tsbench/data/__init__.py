"""tsbench.data"""
