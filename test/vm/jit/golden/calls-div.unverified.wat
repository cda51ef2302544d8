;; structure of func 7
;;   code 0
;;   exit
;; structure of func 8
;;   code 0
;;   exit
(func 7
  (local 2 x i64, 4 x i32)
  global.get 0
  local.set 15
  local.get 15
  i32.const 5
  i32.sub
  local.set 15
  local.get 2
  i64.eqz
  if (result i64)
    i64.const 0
  else
    local.get 1
    local.get 2
    i64.div_u
  end
  local.set 1
  i32.const 0
  local.get 1
  i32.wrap_i64
  i32.sub
  i64.extend_i32_u
  local.set 1
  i32.const 65536
  local.get 1
  i64.store offset=8 align=8
  i32.const 65536
  local.get 2
  i64.store offset=16 align=8
  i32.const 65536
  local.get 3
  i64.store offset=24 align=8
  i32.const 65536
  local.get 4
  i64.store offset=32 align=8
  i32.const 65536
  local.get 5
  i64.store offset=40 align=8
  i32.const 7
  i32.const 2
  call 0
  i32.const 65536
  i64.load align=8
  local.set 0
  if
    i32.const 1
    global.set 2
    local.get 0
    return
  end
  global.get 1
  i32.const 7
  i32.ge_u
  if
    i32.const 2
    i32.const 3
    call 4
    unreachable
  end
  global.get 1
  i32.const 1
  i32.add
  global.set 1
  local.get 0
  local.get 1
  local.get 2
  local.get 3
  local.get 4
  local.get 5
  local.get 6
  local.get 7
  local.get 8
  local.get 9
  local.get 10
  i64.const 512
  i64.sub
  local.get 15
  i32.const 0
  i32.lt_s
  if
    i32.const 3
    local.get 15
    call 3
    local.set 15
  end
  local.get 15
  global.set 0
  call 8
  local.set 0
  global.get 0
  local.set 15
  global.get 1
  i32.const 1
  i32.sub
  global.set 1
  global.get 2
  if
    local.get 0
    return
  end
  global.get 3
  if
    i32.const 65536
    local.get 0
    i64.store offset=64 align=8
    i32.const 65536
    local.get 1
    i64.store offset=72 align=8
    i32.const 65536
    local.get 2
    i64.store offset=80 align=8
    i32.const 65536
    local.get 3
    i64.store offset=88 align=8
    i32.const 65536
    local.get 4
    i64.store offset=96 align=8
    i32.const 65536
    local.get 5
    i64.store offset=104 align=8
    i32.const 65536
    local.get 6
    i64.store offset=112 align=8
    i32.const 65536
    local.get 7
    i64.store offset=120 align=8
    i32.const 65536
    local.get 8
    i64.store offset=128 align=8
    i32.const 65536
    local.get 9
    i64.store offset=136 align=8
    i32.const 65536
    local.get 10
    i64.store offset=144 align=8
  end
  local.get 15
  i32.const 0
  i32.lt_s
  if
    i32.const 4
    local.get 15
    call 3
    local.set 15
  end
  local.get 15
  global.set 0
  local.get 0
  return
  unreachable
)
(func 8
  (local 2 x i64, 4 x i32)
  global.get 0
  local.set 15
  local.get 15
  i32.const 2
  i32.sub
  local.set 15
  local.get 1
  i64.eqz
  if (result i64)
    local.get 0
  else
    local.get 0
    local.get 1
    i64.rem_s
  end
  local.set 0
  local.get 15
  i32.const 0
  i32.lt_s
  if
    i32.const 6
    local.get 15
    call 3
    local.set 15
  end
  local.get 15
  global.set 0
  local.get 0
  return
  unreachable
)
