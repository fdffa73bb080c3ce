"""Data exchange: import and export of enterprises, representatives and existing agreements (XLSX/CSV).

The columns (Chinese headers, the same for import and export) are in ``columns.py``; reading and
writing spreadsheets in ``tabular.py``; validation and import in ``importer.py``; export in
``exporter.py``; the ``bargaining import`` / ``bargaining export`` commands in ``cli.py``.
"""
