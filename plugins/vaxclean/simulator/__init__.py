"""vaxclean.simulator"""
