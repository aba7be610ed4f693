"""Package data: icons, config templates, Qt style sheet."""
