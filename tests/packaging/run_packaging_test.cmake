# Installs confsgm from SOURCE_DIR into WORK_DIR/prefix, then configures and
# builds the consumer project against it with find_package(confsgm CONFIG).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endmacro()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/lib" -DCMAKE_INSTALL_PREFIX=${prefix}
    -DCONFSGM_BUILD_TESTS=OFF -DCONFSGM_BUILD_EXAMPLES=OFF -DCONFSGM_BUILD_BENCHMARKS=OFF
    -DCONFSGM_ENABLE_CUDA=OFF)
run(${CMAKE_COMMAND} --install "${WORK_DIR}/lib")
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" -DCMAKE_PREFIX_PATH=${prefix}
    -DWITH_RDKIT=${WITH_RDKIT})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer")
# Asking for a component the installation lacks must fail clearly.
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer_cuda"
                        -DCMAKE_PREFIX_PATH=${prefix} -DREQUIRE_CUDA=ON
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "without the 'cuda' component")
  message(FATAL_ERROR "find_package(confsgm COMPONENTS cuda) did not fail as it should:\n${out}\n${err}")
endif()
message(STATUS "packaging test passed")
