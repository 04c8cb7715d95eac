"""vaxclean.extract"""
