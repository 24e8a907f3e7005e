"""DynamoDB: the pynamodb models of the template's tables and the data access shared by the flows."""
