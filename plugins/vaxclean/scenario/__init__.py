"""vaxclean.scenario"""
