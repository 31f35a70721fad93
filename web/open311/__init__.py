"""open311 pages"""
