"""The sync service (see ../shared/DESIGN.md section 2). Its issue has not been built yet."""
