__version__ = "0.1.0"
#: Version of the run-directory layout; a reader refuses directories from a newer one.
RUN_FORMAT = 1
