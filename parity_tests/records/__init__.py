"""Every record, by family. Adding a loss: a reference function and one record in its family."""
from . import classification, regression

RECORDS = [*classification.RECORDS, *regression.RECORDS]
BY_NAME = {record.name: record for record in RECORDS}
