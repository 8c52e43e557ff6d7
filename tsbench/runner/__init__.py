"""tsbench.runner"""
