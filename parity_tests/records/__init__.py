"""Every record, by family. Adding a loss: a reference function and one record in its family."""
from . import classification, margin, regression, sequence

RECORDS = [*classification.RECORDS, *regression.RECORDS, *margin.RECORDS, *sequence.RECORDS]
BY_NAME = {record.name: record for record in RECORDS}
