"""Assembly: configuration, the command line, the Application, serving, translations."""
