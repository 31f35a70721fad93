"""chat pages"""
