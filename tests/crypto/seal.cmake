# Tests of the seal_ module (crypto/seal*.c) and the sealing CLI verbs (docs/sealing.md).
sealgate_unit_test(seal_test_value SOURCES ${CMAKE_CURRENT_LIST_DIR}/seal_test_value.c
    LIBS sealgate_crypto PkgConfig::SODIUM)
# The doc's test vectors recomputed by an independent implementation (Python cryptography).
add_test(NAME seal_vectors_py COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/seal_vectors.py
    ${CMAKE_SOURCE_DIR}/docs/sealing.md)
set_tests_properties(seal_vectors_py PROPERTIES LABELS unit)
sealgate_unit_test(seal_test_secret SOURCES ${CMAKE_CURRENT_LIST_DIR}/seal_test_secret.c
    LIBS sealgate_crypto PkgConfig::SODIUM)
sealgate_script_test(seal_cli seal_cli.sh LABELS e2e)
