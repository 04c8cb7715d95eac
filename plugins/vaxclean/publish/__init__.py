"""vaxclean.publish"""
