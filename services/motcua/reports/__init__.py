"""CCHC report documents: form II.06a, the 766 index and the monthly report (XLSX via
openpyxl, DOCX via python-docx, PDF via LibreOffice headless where installed, charts via
matplotlib). The figures come from ``reports.data``; the words from ``reports.summary``."""
