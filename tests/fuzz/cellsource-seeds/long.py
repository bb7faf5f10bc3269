try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
try:
    x = (1,
         2)
except ValueError as e:
    y = r'\d+#' + b"\x00" + f"{x!r:>{w}}"
finally:
    z = 1 + \
        2
s = '''
# not a comment
k = 4
'''
X_train, X_test = train_test_split(df, test_size=0.2)
sns.heatmap(df.corr()); plt.show()
?df
df.isnull().sum()
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
