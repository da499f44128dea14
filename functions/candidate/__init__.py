"""The candidate: the PostgreSQL read path that replaces the old Prisma adapter."""
