;; structure of func 7
;;   block B2
;;     code 0
;;     br_if cond0 B2
;;     code 1
;;   end B2
;;   code 2
;;   exit
(func 7
  (local 2 x i64, 4 x i32)
  global.get 0
  local.set 15
  block
    local.get 15
    i32.const 6
    i32.sub
    local.set 15
    i32.const 131068
    local.get 1
    i64.store32 align=4
    local.get 10
    local.set 2
    local.get 2
    i64.const -4
    i64.add
    local.set 2
    i64.const 8454144
    local.set 1
    i32.const 1056768
    i32.load8_u offset=4096 align=1
    i32.const 1
    i32.eq
    i32.const 8454144
    i32.load align=1
    i32.const 1296453698
    i32.eq
    i32.and
    i32.const 8454144
    i32.load offset=24 align=1
    i32.const 1
    i32.eq
    i32.and
    if
      i32.const 131068
      i32.load align=1
      local.tee 14
      i32.const 8
      i32.mul
      i32.const 8454248
      i32.add
      i64.extend_i32_u
      i64.const 0
      local.get 14
      i32.const 256
      i32.lt_u
      select
      local.set 0
    else
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
      i32.const 1
      i32.const 5
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
    end
    local.get 0
    i64.const 0
    i64.eq
    br_if 0
    local.get 15
    i32.const 3
    i32.sub
    local.set 15
    local.get 0
    local.tee 11
    i32.wrap_i64
    i32.const 0
    local.get 11
    i64.const 16777208
    i64.le_u
    select
    local.tee 14
    i32.const 3
    i32.shr_u
    i32.load8_u offset=4096 align=1
    i32.const 129
    i32.and
    i32.const 1
    i32.ne
    local.get 14
    i32.const 7
    i32.and
    i32.const 0
    i32.gt_u
    i32.or
    if
      local.get 11
      i32.const 7
      call 14
      drop
    end
    local.get 14
    i64.load align=8
    local.set 1
    local.get 1
    i64.const 1
    i64.add
    local.set 1
    local.get 0
    local.tee 11
    i32.wrap_i64
    i32.const 0
    local.get 11
    i64.const 16777208
    i64.le_u
    select
    local.tee 14
    i32.const 3
    i32.shr_u
    i32.load8_u offset=4096 align=1
    i32.const 130
    i32.and
    i32.const 2
    i32.ne
    local.get 14
    i32.const 7
    i32.and
    i32.const 0
    i32.gt_u
    i32.or
    if
      local.get 11
      i32.const 9
      call 15
      drop
    end
    local.get 14
    local.get 1
    i64.store align=8
  end
  local.get 15
  i32.const 12
  i32.sub
  local.set 15
  local.get 10
  local.set 2
  local.get 2
  i64.const -16
  i64.add
  local.set 2
  i64.const 8456344
  local.set 1
  i32.const 1057043
  i32.load8_u offset=4096 align=1
  i32.const 1
  i32.eq
  i32.const 8456344
  i32.load align=1
  i32.const 1296453698
  i32.eq
  i32.and
  i32.const 8456344
  i32.load offset=24 align=1
  i32.const 2
  i32.eq
  i32.and
  if
    i32.const 8456344
    i32.const 131056
    i32.const 0
    call 20
    i64.extend_i32_u
    local.set 0
  else
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
    i32.const 1
    i32.const 14
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
  end
  local.get 10
  local.set 2
  local.get 2
  i64.const -4
  i64.add
  local.set 2
  local.get 10
  local.set 3
  local.get 3
  i64.const -16
  i64.add
  local.set 3
  i64.const 0
  local.set 4
  i64.const 8454144
  local.set 1
  i32.const 1056768
  i32.load8_u offset=4096 align=1
  i32.const 1
  i32.eq
  i32.const 8454144
  i32.load align=1
  i32.const 1296453698
  i32.eq
  i32.and
  i32.const 8454144
  i32.load offset=24 align=1
  i32.const 1
  i32.eq
  i32.and
  if
    block
      i64.const -22
      local.set 0
      local.get 4
      i64.const -5
      i64.and
      i64.const 2
      i64.gt_u
      br_if 0
      i64.const -7
      local.set 0
      i32.const 131068
      i32.load align=1
      local.tee 14
      i32.const 256
      i32.ge_u
      br_if 0
      i64.const -17
      local.set 0
      local.get 4
      i32.wrap_i64
      i32.const 3
      i32.and
      i32.const 1
      i32.eq
      br_if 0
      i64.const -22
      local.set 0
      local.get 4
      i32.wrap_i64
      i32.const 4
      i32.and
      br_if 0
      local.get 14
      i32.const 8
      i32.mul
      i32.const 8454248
      i32.add
      local.set 14
      i32.const 131056
      i64.load align=1
      local.set 11
      local.get 14
      local.get 11
      i64.store align=1
      i64.const 0
      local.set 0
    end
  else
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
    i32.const 2
    i32.const 22
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
    i32.const 23
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
