"""The interactions service (see ../shared/DESIGN.md section 2); its issue comes later."""
