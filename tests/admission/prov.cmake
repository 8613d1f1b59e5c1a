# Provenance tests (prov_*): comparison and matching in-process, index and sync against real git
# repositories made at test time with real ssh-keygen signatures.
set(PROV_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
sealgate_unit_test(prov_diff_test SOURCES ${PROV_TEST_DIR}/prov_diff_test.c LIBS sealgate_admission)

# Tests that drive real git and ssh-keygen (and git daemon): labelled e2e. Full stacks on malloc
# (fast_unwind_on_malloc=0) so that tests/lsan.supp can name the test function behind a
# libgit2 leak: libgit2 has no frame pointers, and the fast unwinder stops inside it.
function(prov_git_test name)
    add_executable(${name} ${PROV_TEST_DIR}/${name}.c)
    target_link_libraries(${name} PRIVATE sealgate_admission sealgate_util sealgate_options)
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests ${PROV_TEST_DIR})
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS e2e TIMEOUT 120
        ENVIRONMENT "SEALGATE_SOURCE_DIR=${CMAKE_SOURCE_DIR};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:fast_unwind_on_malloc=0")
endfunction()
prov_git_test(prov_index_test)
prov_git_test(prov_sync_test)
sealgate_script_test(prov_demo prov_demo.sh)
# ssh:// (a real sshd on loopback) and https:// (git http-backend behind TLS) through the server,
# with the credentials the chart mounts.
sealgate_script_test(prov_remote prov_remote.sh LABELS e2e TIMEOUT 240)
