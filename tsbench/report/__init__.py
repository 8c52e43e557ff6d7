"""tsbench.report"""
