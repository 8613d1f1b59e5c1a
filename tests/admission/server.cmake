# The webhook server's tests: in-process (config, AdmissionReview in and out) and end to end
# (the real server on loopback with real TLS, driven by curl, openssl and a Python client).
sealgate_unit_test(server_test_review SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_test_review.c
    LIBS sealgate_admission OpenSSL::Crypto)
sealgate_script_test(server_e2e server_e2e.sh TIMEOUT 240)
sealgate_script_test(server_reload server_reload.sh TIMEOUT 240)
sealgate_script_test(server_tls server_tls.sh TIMEOUT 240)
sealgate_script_test(server_default server_default.sh TIMEOUT 240)
sealgate_script_test(server_prov server_prov.sh TIMEOUT 240 VALGRIND)
sealgate_script_test(server_mutate server_mutate.sh TIMEOUT 240)
sealgate_script_test(server_keys server_keys.sh TIMEOUT 240 VALGRIND)
sealgate_unit_test(server_keys_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_keys_test.c
    LIBS sealgate_admission)
sealgate_script_test(server_keys_prov server_keys_prov.sh TIMEOUT 240)
