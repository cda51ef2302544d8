;; structure of func 7
;;   code 0
;;   exit
(func 7
  (local 2 x i64, 4 x i32)
  global.get 0
  local.set 15
  local.get 15
  i32.const 7
  i32.sub
  local.set 15
  local.get 1
  i64.const 4
  i64.add
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
  i32.const 4
  i32.gt_u
  i32.or
  if
    local.get 11
    i32.const 0
    call 12
    drop
  end
  local.get 14
  i64.load32_u align=4
  local.set 2
  local.get 1
  i32.wrap_i64
  i64.load16_u offset=6 align=2
  local.set 3
  local.get 1
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
  if
    local.get 11
    i32.const 2
    call 9
    drop
  end
  local.get 14
  i64.const 9
  i64.store8 align=1
  local.get 1
  i64.const 8
  i64.add
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
  i32.const 131
  i32.and
  i32.const 3
  i32.ne
  local.get 14
  i32.const 7
  i32.and
  i32.or
  if
    local.get 11
    i32.const 3
    call 17
    drop
  end
  local.get 14
  local.get 2
  i64.atomic.rmw.add align=8
  local.set 2
  i32.const 131064
  local.get 3
  i64.store align=8
  local.get 2
  local.set 0
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
(func 8
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 1
      i32.and
      i32.const 1
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 1
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 1
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 1
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1025
  call 2
  unreachable
)
(func 9
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 2
      i32.and
      i32.const 2
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 1
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 257
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 257
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1281
  call 2
  unreachable
)
(func 10
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 1
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 1
      i32.and
      i32.const 1
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 2
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 2
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 2
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1026
  call 2
  unreachable
)
(func 11
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 1
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 2
      i32.and
      i32.const 2
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 2
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 258
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 258
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1282
  call 2
  unreachable
)
(func 12
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 3
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 1
      i32.and
      i32.const 1
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 4
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 4
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 4
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1028
  call 2
  unreachable
)
(func 13
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 3
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 2
      i32.and
      i32.const 2
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 4
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 260
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 260
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1284
  call 2
  unreachable
)
(func 14
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 7
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 1
      i32.and
      i32.const 1
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 8
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 8
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 8
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1032
  call 2
  unreachable
)
(func 15
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 7
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 2
      i32.and
      i32.const 2
      i32.ne
      br_if 0
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 8
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 264
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 264
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1288
  call 2
  unreachable
)
(func 16
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 3
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 3
      i32.and
      i32.const 3
      i32.ne
      br_if 0
      local.get 2
      i32.const 3
      i32.and
      br_if 1
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 4
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 772
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 772
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1796
  call 2
  unreachable
)
(func 17
  (local 3 x i32)
  block
    block
      local.get 0
      i64.const 16777208
      i64.gt_u
      br_if 0
      local.get 0
      i32.wrap_i64
      local.set 2
      local.get 2
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 3
      local.get 2
      i32.const 7
      i32.add
      i32.const 3
      i32.shr_u
      i32.load8_u offset=4096 align=1
      local.set 4
      local.get 3
      local.get 4
      i32.and
      i32.const 3
      i32.and
      i32.const 3
      i32.ne
      br_if 0
      local.get 2
      i32.const 7
      i32.and
      br_if 1
      local.get 3
      local.get 4
      i32.or
      i32.const 128
      i32.and
      i32.eqz
      if
        local.get 2
        return
      end
      i32.const 65536
      i32.load offset=152 align=4
      local.get 2
      i32.le_u
      local.get 2
      i32.const 8
      i32.add
      i32.const 65536
      i32.load offset=156 align=4
      i32.le_u
      i32.and
      if
        local.get 2
        return
      end
      local.get 2
      i32.const 776
      call 1
      i32.eqz
      br_if 0
      local.get 2
      return
    end
    local.get 1
    local.get 0
    i32.wrap_i64
    local.get 0
    i64.const 32
    i64.shr_u
    i32.wrap_i64
    i32.const 776
    call 2
    unreachable
  end
  local.get 1
  local.get 0
  i32.wrap_i64
  local.get 0
  i64.const 32
  i64.shr_u
  i32.wrap_i64
  i32.const 1800
  call 2
  unreachable
)
(func 18
  i32.const 65536
  i32.load offset=48 align=4
  global.set 0
  i32.const 0
  global.set 1
  i32.const 0
  global.set 2
  i32.const 65536
  i32.load offset=56 align=4
  global.set 3
  i32.const 65536
  i64.const 0
  i32.const 65536
  i64.load offset=8 align=8
  i32.const 65536
  i64.load offset=16 align=8
  i32.const 65536
  i64.load offset=24 align=8
  i32.const 65536
  i64.load offset=32 align=8
  i32.const 65536
  i64.load offset=40 align=8
  i64.const 0
  i64.const 0
  i64.const 0
  i64.const 0
  i64.const 131072
  call 7
  i64.store align=8
  i32.const 65536
  global.get 0
  i32.store offset=48 align=4
  global.get 0
)
(func 19
  (local 1 x i32)
  i32.const 65536
  i32.load offset=48 align=4
  global.set 0
  i32.const 0
  global.set 1
  i32.const 0
  global.set 2
  i32.const 65536
  i32.load offset=56 align=4
  global.set 3
  block
    loop
      local.get 3
      local.get 0
      i32.ge_u
      br_if 1
      i32.const 65536
      local.get 3
      i32.store offset=52 align=4
      i32.const 65536
      i32.load offset=48 align=4
      global.set 0
      local.get 2
      i64.const 0
      local.get 1
      i64.load align=8
      local.get 1
      i64.load offset=8 align=8
      local.get 1
      i64.load offset=16 align=8
      local.get 1
      i64.load offset=24 align=8
      local.get 1
      i64.load offset=32 align=8
      i64.const 0
      i64.const 0
      i64.const 0
      i64.const 0
      i64.const 131072
      call 7
      i64.store align=8
      local.get 1
      i32.const 40
      i32.add
      local.set 1
      local.get 2
      i32.const 8
      i32.add
      local.set 2
      local.get 3
      i32.const 1
      i32.add
      local.set 3
      br 0
    end
  end
  i32.const 0
)
