"""map pages"""
