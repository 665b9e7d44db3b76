"""kiwoom-etl's tests: one package per package of etl/ (tests/<package>/test_<module>.py), helpers shared by several
in tests/support/, behaviour across the whole house in tests/integration/."""
