;; structure of func 7 (dispatcher)
;;   dispatch [0 2 3 1]
;;     case 0:
;;       code 0
;;       if cond0
;;         goto 2
;;       else
;;         goto 1
;;       end
;;     case 2:
;;       code 2
;;       if cond2
;;         goto 1
;;       else
;;         goto 3
;;       end
;;     case 3:
;;       code 3
;;       exit
;;     case 1:
;;       code 1
;;       goto 2
(func 7
  (local 2 x i64, 4 x i32)
  loop
    block
      block
        block
          block
            local.get 13
            br_table 0 1 2 3 3
          end
          i64.const 0
          local.set 0
          i64.const 4
          local.set 1
          local.get 3
          i64.const 0
          i64.eq
          if
            i32.const 1
            local.set 13
            br 4
          else
            i32.const 3
            local.set 13
            br 4
          end
        end
        local.get 0
        i64.const 3
        i64.mul
        local.set 0
        local.get 1
        i64.const 1
        i64.sub
        local.set 1
        local.get 1
        i64.const 0
        i64.ne
        if
          i32.const 3
          local.set 13
          br 3
        else
          i32.const 2
          local.set 13
          br 3
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
      local.get 0
      return
    end
    local.get 0
    i64.const 1
    i64.add
    local.set 0
    i32.const 1
    local.set 13
    br 0
  end
  unreachable
)
