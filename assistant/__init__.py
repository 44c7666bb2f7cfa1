"""Osloregionen-assistenten: spørsmål og svar med kildehenvisninger over Osloregionens dokumenter."""
