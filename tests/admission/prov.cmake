# Provenance tests (prov_*): comparison and matching in-process, index and sync against real git
# repositories made at test time with real ssh-keygen signatures.
set(PROV_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
sealgate_unit_test(prov_diff_test SOURCES ${PROV_TEST_DIR}/prov_diff_test.c LIBS sealgate_admission)
