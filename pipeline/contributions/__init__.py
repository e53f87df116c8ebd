"""What people send: spreadsheets read, checked row by row with suggestions, curation overlays,
templates, and intake into data/contrib/. Never imports pipeline.sources."""
