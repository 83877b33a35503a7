"""`verify`: end-to-end checks that returns really work for a merchant's TikTok buyers.

evidence.py reads (read-only clients only), checks.py decides (one function
per check), runner.py runs a fleet, report.py renders, results.py holds the
result types.
"""
