"""The Prefect tasks of a year run: ``fetch`` (discover and download a chunk of agencies), ``parse``
(a chunk of archived documents, and the task runner it runs on) and ``load`` (load → validate →
promote, record acquisitions, publish, e-mail).  Each takes and returns values."""
