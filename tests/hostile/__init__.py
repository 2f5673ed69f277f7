"""Generators of hostile and broken intake files, written into a test's tmp_path at test time.

Nothing large is committed: every file is built from a few lines of code when a test asks for it.
"""
