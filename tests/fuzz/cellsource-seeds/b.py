@dec
def f(a=1, *b):
    """doc # not"""
    x += 1; y <<= 2
    return x == y
else:
  pass
class C: pass
%%time
!pip install x
%matplotlib inline
model.fit(X_train, y_train)
print(f"acc {score(y, p):.3f}")
плот = ВАШ_КОД
