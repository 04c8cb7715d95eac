"""vaxclean.schemas"""
