"""office pages"""
