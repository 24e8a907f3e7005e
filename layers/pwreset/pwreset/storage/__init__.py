"""DynamoDB: the pynamodb models of the template's tables, the data access shared by the flows and
their transactions. No other area imports pynamodb."""
