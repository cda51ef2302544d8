;; structure of func 7
;;   code 0
;;   loop L1
;;     code 1
;;     br_if cond1 L1
;;     code 2
;;     exit
;;   end L1
(func 7
  (local 2 x i64, 4 x i32)
  i64.const 0
  local.set 0
  loop
    local.get 0
    local.get 1
    i64.add
    local.set 0
    local.get 1
    i64.const 1
    i64.sub
    local.set 1
    local.get 1
    i64.const 0
    i64.ne
    br_if 0
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
    local.get 0
    return
  end
  unreachable
)
