"""status pages"""
