"""vaxclean.load"""
