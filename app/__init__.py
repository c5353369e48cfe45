"""Veerkracht API: who is involved in what in Noord-Brabant's programme Versterken Sociale Veerkracht."""
