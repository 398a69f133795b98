"""The pages, one module per page family: htmx.py renders fragments, request_data.py reads what a request
brings, paging.py turns cursors into pages."""
